/**
 * What to paste into the ad platform and the landing page. The platforms' placeholders stay
 * literal (in braces), filled by Google Ads (ValueTrack) or Microsoft Advertising at click time.
 * Search ads run under parallel tracking: the visitor goes straight to the final URL (the landing
 * page), keyrev's link is the tracking template (with `lpurl`), and the landing page's script
 * gives the page the click id.
 */
interface Platform {
  /** The keyword and ad parameters, in the tracking template and the final URL suffix alike. */
  keyword: string;
  /** The platform's click id and what else only the tracking link needs. */
  tracking: string;
  /** The platform's click id parameter, for a test click. */
  clickIdParam?: string;
}

const platforms: Record<string, Platform> = {
  google: { keyword: 'kw={keyword}&ad={creative}&adgroup={adgroupid}&matchtype={matchtype}', tracking: '&network={network}&device={device}&gclid={gclid}&utm_source=google&utm_medium=cpc', clickIdParam: 'gclid' },
  microsoft: { keyword: 'kw={keyword}&ad={AdId}&adgroup={AdGroupId}&matchtype={MatchType}', tracking: '&network={Network}&device={Device}&msclkid={msclkid}&utm_source=bing&utm_medium=cpc', clickIdParam: 'msclkid' },
  other: { keyword: 'kw=KEYWORD&ad=AD', tracking: '&utm_source=SOURCE&utm_medium=cpc' },
};

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the link builder needs of a campaign (campaigns-view.ts has the list). */
interface Campaign {
  id: string;
  landingDomains: string[];
}

let campaignOf: (id: string) => Campaign | undefined = () => undefined;

/** The pieces for a campaign on a platform; `template` is the plain tracking link when the campaign has no landing domains (or for other traffic). */
export function trackingSetup(origin: string, campaign: Campaign, platform: string) {
  const p = platforms[platform] ?? platforms.google!;
  const link = `${origin}/c/${encodeURIComponent(campaign.id)}?${p.keyword}${p.tracking}`;
  const parallel = p.clickIdParam !== undefined && campaign.landingDomains.length > 0;
  const script = `<script src="${origin}/lp.js" data-campaign="${campaign.id}" async></script>`;
  if (!parallel) return { template: link, suffix: undefined, script, test: undefined };
  // A made-up platform click id: the tracking template records it and lands on the page, whose script must resolve the same click.
  const testId = `TEST-${Date.now().toString(36)}`;
  const landing = `https://${campaign.landingDomains[0]}/?${p.clickIdParam}=${testId}&kw=test`;
  const test = `${origin}/c/${encodeURIComponent(campaign.id)}?kw=test&${p.clickIdParam}=${testId}&lpurl=${encodeURIComponent(landing)}`;
  return { template: `${link}&lpurl={lpurl}`, suffix: p.keyword, script, test };
}

export function renderLink(): void {
  const campaign = campaignOf(byId<HTMLSelectElement>('link-campaign').value);
  const platform = byId<HTMLSelectElement>('link-platform').value;
  const setup = campaign ? trackingSetup(location.origin, campaign, platform) : undefined;
  byId<HTMLOutputElement>('link-output').textContent = setup ? setup.template : 'Create a campaign first.';
  byId('link-template-label').textContent = setup?.suffix === undefined ? 'Tracking link (the ad’s URL)' : 'Tracking template';
  byId<HTMLOutputElement>('link-suffix').textContent = setup?.suffix ?? '';
  byId('link-suffix-row').hidden = setup?.suffix === undefined;
  byId<HTMLOutputElement>('link-script').textContent = setup?.script ?? '';
  const test = byId<HTMLAnchorElement>('link-test');
  test.hidden = setup?.test === undefined;
  if (setup?.test) test.href = setup.test;
  // Parallel tracking needs the campaign's landing domains; say so rather than show a template that would not land.
  byId('link-hint').hidden = !campaign || platform === 'other' || campaign.landingDomains.length > 0;
}

export function setUpLinkBuilder(findCampaign: (id: string) => Campaign | undefined): void {
  campaignOf = findCampaign;
  byId('link-campaign').addEventListener('change', renderLink);
  byId('link-platform').addEventListener('change', renderLink);
  byId('link-copy').addEventListener('click', () => {
    void navigator.clipboard?.writeText(byId<HTMLOutputElement>('link-output').textContent ?? '');
  });
}

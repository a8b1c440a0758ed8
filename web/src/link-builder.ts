/**
 * Tracking links for search ads. The platform's placeholders stay literal (in braces), to be
 * filled by Google Ads (ValueTrack) or Microsoft Ads at click time.
 */
const platforms: Record<string, string> = {
  google: 'kw={keyword}&ad={creative}&adgroup={adgroupid}&matchtype={matchtype}&network={network}&device={device}&gclid={gclid}&utm_source=google&utm_medium=cpc',
  microsoft: 'kw={keyword}&ad={AdId}&adgroup={AdGroupId}&matchtype={MatchType}&network={Network}&device={Device}&msclkid={msclkid}&utm_source=bing&utm_medium=cpc',
};

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export function trackingLink(origin: string, campaignId: string, platform: string): string {
  return `${origin}/c/${encodeURIComponent(campaignId)}?${platforms[platform] ?? platforms.google}`;
}

export function renderLink(): void {
  const campaign = byId<HTMLSelectElement>('link-campaign').value;
  const platform = byId<HTMLSelectElement>('link-platform').value;
  byId<HTMLOutputElement>('link-output').textContent = campaign ? trackingLink(location.origin, campaign, platform) : 'Create a campaign first.';
}

export function setUpLinkBuilder(): void {
  byId('link-campaign').addEventListener('change', renderLink);
  byId('link-platform').addEventListener('change', renderLink);
  byId('link-copy').addEventListener('click', () => {
    void navigator.clipboard?.writeText(byId<HTMLOutputElement>('link-output').textContent ?? '');
  });
}

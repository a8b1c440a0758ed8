import { ApiError, api, type Json, type JsonBody } from './api.js';
import { renderLink } from './link-builder.js';

type CampaignList = Json<'/api/campaigns', 'get', 200>;
export type Campaign = CampaignList['campaigns'][number];

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let campaigns: Campaign[] = [];

export function findCampaign(id: string): Campaign | undefined {
  return campaigns.find((c) => c.id === id);
}

export async function loadCampaigns(): Promise<void> {
  const list = byId<HTMLUListElement>('campaign-list');
  try {
    campaigns = (await api<CampaignList>('/api/campaigns')).campaigns;
  } catch (err) {
    campaigns = [];
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: (err as Error).message }));
    throw err;
  }
  list.replaceChildren(
    ...campaigns.map((c) => {
      const li = document.createElement('li');
      li.dataset.id = c.id;
      li.innerHTML = `<strong></strong> <code></code> <span class="muted"></span>`;
      li.querySelector('strong')!.textContent = c.name;
      li.querySelector('code')!.textContent = c.id;
      li.querySelector('span')!.textContent = `${c.status} · ${c.offerUrl}`;
      return li;
    }),
  );
  if (campaigns.length === 0) list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'No campaigns yet.' }));
  const select = byId<HTMLSelectElement>('link-campaign');
  select.replaceChildren(...campaigns.map((c) => new Option(c.name, c.id)));
  renderLink();
}

export function setUpCampaignForm(): void {
  const form = byId<HTMLFormElement>('campaign-form');
  const error = byId<HTMLParagraphElement>('campaign-error');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body: JsonBody<'/api/campaigns', 'post'> = { name: String(f.get('name')), offerUrl: String(f.get('offerUrl')) };
    if (f.get('trafficSource')) body.trafficSource = String(f.get('trafficSource'));
    const domains = String(f.get('landingDomains') ?? '')
      .split(/[\s,]+/)
      .filter((d) => d !== '');
    if (domains.length > 0) body.landingDomains = domains;
    error.hidden = true;
    try {
      await api('/api/campaigns', { method: 'POST', body: JSON.stringify(body) });
      form.reset();
      await loadCampaigns();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
      error.hidden = false;
    }
  });
}

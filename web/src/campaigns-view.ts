import { ApiError, api, type Json, type JsonBody } from './api.js';
import { renderLink } from './link-builder.js';

type CampaignList = Json<'/api/campaigns', 'get', 200>;
export type Campaign = CampaignList['campaigns'][number];
type CampaignBody = JsonBody<'/api/campaigns', 'post'>;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let campaigns: Campaign[] = [];
/** Called after a campaign was created, changed or deleted (the report shows campaigns by name). */
let changed: () => void = () => undefined;

export function findCampaign(id: string): Campaign | undefined {
  return campaigns.find((c) => c.id === id);
}

const costModelLabels: Record<Campaign['costModel'], string> = { none: 'no cost model', cpc: 'CPC', cpm: 'CPM', cpa: 'CPA', revshare: 'revenue share' };

function describe(c: Campaign): string {
  const cost = c.costModel === 'none' ? costModelLabels.none : `${costModelLabels[c.costModel]} ${c.costValue}`;
  return `${c.status} · ${cost} · ${c.offerUrl}`;
}

function campaignItem(c: Campaign): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.id = c.id;
  li.dataset.status = c.status;
  li.innerHTML = `<strong></strong> <code></code> <span class="muted"></span>
    <span class="actions"><button type="button" data-action="edit" class="secondary">Edit</button>
    <button type="button" data-action="status" class="secondary"></button>
    <button type="button" data-action="delete" class="danger">Delete</button></span>`;
  li.querySelector('strong')!.textContent = c.name;
  li.querySelector('code')!.textContent = c.id;
  li.querySelector('span.muted')!.textContent = describe(c);
  li.querySelector('[data-action=status]')!.textContent = c.status === 'active' ? 'Pause' : 'Resume';
  for (const b of li.querySelectorAll('button')) b.setAttribute('aria-label', `${b.textContent} ${c.name}`);
  return li;
}

/**
 * Loads the campaigns. A read-only report key is refused (403): the campaign screens are hidden
 * for it rather than offered to fail, and the error is passed on for the caller to explain.
 */
export async function loadCampaigns(): Promise<void> {
  const list = byId<HTMLUListElement>('campaign-list');
  try {
    campaigns = (await api<CampaignList>('/api/campaigns')).campaigns;
  } catch (err) {
    campaigns = [];
    const readOnly = err instanceof ApiError && err.status === 403;
    byId('campaigns').hidden = readOnly;
    byId('links').hidden = readOnly;
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: (err as Error).message }));
    throw err;
  }
  byId('campaigns').hidden = false;
  byId('links').hidden = false;
  list.replaceChildren(...campaigns.map(campaignItem));
  if (campaigns.length === 0) list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'No campaigns yet.' }));
  const select = byId<HTMLSelectElement>('link-campaign');
  const chosen = select.value;
  select.replaceChildren(...campaigns.map((c) => new Option(c.name, c.id)));
  if (findCampaign(chosen)) select.value = chosen;
  renderLink();
}

/** The form as a campaign body; an empty optional field is left out (the API's default, or no change). */
function formBody(form: HTMLFormElement): CampaignBody {
  const f = new FormData(form);
  const text = (name: string) => String(f.get(name) ?? '').trim();
  const body: CampaignBody = {
    name: text('name'),
    offerUrl: text('offerUrl'),
    trafficSource: text('trafficSource'),
    costModel: text('costModel') as Campaign['costModel'],
    costValue: Number(text('costValue') || 0),
    status: text('status') as Campaign['status'],
    landingDomains: text('landingDomains')
      .split(/[\s,]+/)
      .filter((d) => d !== ''),
  };
  if (text('fallbackUrl')) body.fallbackUrl = text('fallbackUrl');
  return body;
}

function editMode(c: Campaign | undefined): void {
  const form = byId<HTMLFormElement>('campaign-form');
  form.reset();
  byId('campaign-error').hidden = true;
  byId('campaign-form-title').textContent = c ? `Edit ${c.name}` : 'New campaign';
  form.querySelector<HTMLButtonElement>('button[type=submit]')!.textContent = c ? 'Save' : 'Create';
  byId('campaign-cancel').hidden = !c;
  const set = (name: string, value: string) => ((form.elements.namedItem(name) as HTMLInputElement).value = value);
  // A hidden input's value is its default: reset() keeps it, so it is set either way.
  set('id', c?.id ?? '');
  if (!c) return;
  set('name', c.name);
  set('offerUrl', c.offerUrl);
  set('trafficSource', c.trafficSource);
  set('costModel', c.costModel);
  set('costValue', String(c.costValue));
  set('fallbackUrl', c.fallbackUrl ?? '');
  set('status', c.status);
  set('landingDomains', c.landingDomains.join(', '));
  form.querySelector<HTMLInputElement>('[name=name]')!.focus();
}

async function afterChange(): Promise<void> {
  await loadCampaigns();
  changed();
}

export function setUpCampaignForm(onChange: () => void): void {
  changed = onChange;
  const form = byId<HTMLFormElement>('campaign-form');
  const error = byId<HTMLParagraphElement>('campaign-error');
  const showError = (err: unknown) => {
    error.textContent = err instanceof ApiError ? err.message : String(err);
    error.hidden = false;
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = (form.elements.namedItem('id') as HTMLInputElement).value;
    const body = formBody(form);
    error.hidden = true;
    try {
      if (id) await api(`/api/campaigns/${encodeURIComponent(id)}`, { method: 'PATCH', body: JSON.stringify(body) });
      else await api('/api/campaigns', { method: 'POST', body: JSON.stringify(body) });
      editMode(undefined);
      await afterChange();
    } catch (err) {
      showError(err);
    }
  });
  byId('campaign-cancel').addEventListener('click', () => editMode(undefined));
  byId('campaign-list').addEventListener('click', async (e) => {
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
    const c = findCampaign(button?.closest('li')?.dataset.id ?? '');
    if (!button || !c) return;
    const path = `/api/campaigns/${encodeURIComponent(c.id)}`;
    error.hidden = true;
    try {
      if (button.dataset.action === 'edit') return editMode(c);
      if (button.dataset.action === 'status') {
        await api(path, { method: 'PATCH', body: JSON.stringify({ status: c.status === 'active' ? 'paused' : 'active' }) });
      } else {
        // Its clicks and conversions stay in reports (under its id); its tracking links stop working.
        if (!confirm(`Delete "${c.name}"? Its tracking links stop working; its past clicks stay in reports.`)) return;
        await api(path, { method: 'DELETE' });
        if ((form.elements.namedItem('id') as HTMLInputElement).value === c.id) editMode(undefined);
      }
      await afterChange();
    } catch (err) {
      showError(err);
    }
  });
}

import { ApiError, api, apiKey, setApiKey } from './api.js';
import { findCampaign, loadCampaigns, setUpCampaignForm } from './campaigns-view.js';
import { setUpLinkBuilder } from './link-builder.js';
import { loadReport, setUpReport, startLiveRefresh } from './report-view.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

async function showHealth(): Promise<void> {
  const badge = byId<HTMLSpanElement>('health');
  try {
    const h = await api<{ status: string; warehouse: string }>('/health');
    badge.textContent = `${h.status} · ${h.warehouse}`;
    badge.dataset.state = 'ok';
  } catch (err) {
    badge.textContent = `unavailable: ${(err as Error).message}`;
    badge.dataset.state = 'down';
  }
}

async function loadAll(): Promise<void> {
  const message = byId<HTMLParagraphElement>('auth-message');
  message.hidden = true;
  if (!apiKey()) {
    message.textContent = 'Enter your admin key (printed at first start, in data/admin.key) or a report key.';
    message.hidden = false;
    return;
  }
  try {
    await loadCampaigns();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      message.textContent = err.status === 401 ? 'That key was not accepted.' : 'This read-only key shows reports only.';
      message.hidden = false;
    } else if (err instanceof ApiError && err.status === 0) {
      message.textContent = err.message;
      message.hidden = false;
    }
  }
  await loadReport();
}

byId<HTMLFormElement>('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  setApiKey(byId<HTMLInputElement>('api-key').value);
  void loadAll();
});
byId<HTMLInputElement>('api-key').value = apiKey();
// The API groups by campaign id; people know their campaigns by name.
setUpReport((dim, value) => (dim === 'campaign' ? findCampaign(value)?.name : undefined));
setUpCampaignForm(() => void loadReport());
setUpLinkBuilder(findCampaign);
startLiveRefresh(30_000);
void showHealth();
void loadAll();

import { fillTemplate, templateProblem, type TemplateContext, type TemplateSpec } from '../core/template.js';
import { stateOf, type AlertMessage } from './message.js';

/** The placeholders of a webhook's URL, headers and body. */
export const webhookPlaceholders = ['rule', 'message', 'state', 'campaign', 'since', 'link'] as const;
const spec: TemplateSpec = { names: new Set(webhookPlaceholders), noun: 'placeholder' };

/** The first unknown placeholder of a template, or undefined. */
export const placeholderProblem = (template: string) => templateProblem(template, spec);

/** A message as a webhook's values: `{state}` is what a receiver branches on; `{link}` the dashboard's report ('' without KEYREV_PUBLIC_URL). */
export function webhookValues(m: AlertMessage): Record<(typeof webhookPlaceholders)[number], string> {
  return { rule: m.rule, message: m.text, state: stateOf(m), campaign: m.campaign, since: m.since, link: m.link };
}

/** A webhook template filled with a message's values, each encoded once for its context. */
export const fillWebhook = (template: string, m: AlertMessage, context: TemplateContext) => fillTemplate(template, webhookValues(m), context, spec);

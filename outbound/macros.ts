import { conversionStatuses } from '../core/conversion.js';
import { fillTemplate, templateProblem, type TemplateContext, type TemplateSpec } from '../core/template.js';

/**
 * The macros of outgoing postbacks: `{name}` placeholders in a rule's URL, body and headers, each
 * filled with a conversion's value encoded once for where it stands (core/template.ts), and the
 * inline status map `{status:sale=1,lead=0}` (the status's word in the map, else the status itself).
 */
export const macroNames = [
  'clickid',
  'external_id',
  'payout',
  'revenue',
  'currency',
  'status',
  'txid',
  'conversion_type',
  'conversion_time',
  'keyword',
  'ad',
  'adgroup',
  'matchtype',
  'campaign',
  'source',
  'gclid',
  'msclkid',
  'fbclid',
  ...(['sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'sub6', 'sub7', 'sub8', 'sub9', 'sub10'] as const),
  ...(['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const),
] as const;
export type MacroName = (typeof macroNames)[number];
export type MacroValues = Record<MacroName, string>;

/** Where a template is filled, and so how each value is encoded. */
export type MacroContext = Exclude<TemplateContext, 'text'>;

/** The macros, and the one that takes an inline map: `{status:sale=1,lead=0}`. */
const spec: TemplateSpec = { names: new Set(macroNames), noun: 'macro', map: { name: 'status', example: '{status:sale=1,lead=0}' } };
/** Macros whose values are numbers, so a JSON body may hold them outside quotes. */
const numeric: ReadonlySet<string> = new Set(['payout', 'revenue']);

/** The first problem of a template's placeholders (an unknown macro, a bad status map), or undefined. */
export function macroProblem(template: string): string | undefined {
  return templateProblem(template, spec);
}

/** Fills a template: each value, and a status map's word, encoded once for the context. */
export function fillMacros(template: string, values: MacroValues, context: MacroContext): string {
  return fillTemplate(template, values, context, spec);
}

/**
 * Whether a JSON body template gives JSON whatever the values: filled for every status (a status
 * map may give a word for one and fall back to the bare status for another), with a number for
 * the numeric macros and a word for the others, it must parse (a text macro must stand in quotes).
 */
export function jsonTemplateProblem(template: string): string | undefined {
  for (const status of conversionStatuses) {
    const sample = Object.fromEntries(macroNames.map((n) => [n, numeric.has(n) ? '1' : n === 'status' ? status : 'sale'])) as MacroValues;
    try {
      JSON.parse(fillMacros(template, sample, 'json'));
    } catch {
      return `must be JSON once filled (for status ${status}): put text macros, and a status map giving words, inside quotes ("{clickid}"); {payout} and {revenue} may stand bare`;
    }
  }
  return undefined;
}

import { describe, expect, it } from 'vitest';
import { encoders, fillTemplate, templateProblem, type TemplateSpec } from '../../core/template.js';

const spec: TemplateSpec = { names: new Set(['name', 'state']), noun: 'placeholder', map: { name: 'state', example: '{state:firing=1}' } };
const values = { name: 'a "b" & c=d\n日本', state: 'firing' };

describe('templates', () => {
  it('encodes each value once for its place', () => {
    expect(fillTemplate('{name}', values, 'url', spec)).toBe('a%20%22b%22%20%26%20c%3Dd%0A%E6%97%A5%E6%9C%AC');
    expect(JSON.parse(fillTemplate('{"n":"{name}"}', values, 'json', spec))).toEqual({ n: values.name });
    expect(new URLSearchParams(fillTemplate('n={name}&s={state}', values, 'form', spec)).get('n')).toBe(values.name);
    expect(fillTemplate('n: {name}', values, 'text', spec)).toBe(`n: ${values.name}`);
    expect(fillTemplate('{name}', values, 'header', spec)).toBe('a "b" & c=d%0A%E6%97%A5%E6%9C%AC');
  });

  it('maps a value through a value map, encoded too, else the value itself', () => {
    expect(fillTemplate('{state:firing=1,resolved=0}', values, 'url', spec)).toBe('1');
    expect(fillTemplate('{state:resolved=0}', values, 'url', spec)).toBe('firing');
    expect(fillTemplate('"{state:firing=a"b}"', values, 'json', spec)).toBe('"a\\"b"');
  });

  it('names the first unknown placeholder or bad map', () => {
    expect(templateProblem('{name} {nope}', spec)).toBe('unknown placeholder {nope}');
    expect(templateProblem('{name:a=1}', spec)).toBe('{name:a=1} is not a state map such as {state:firing=1}');
    expect(templateProblem('{state:x}', spec)).toMatch(/not a state map/);
    expect(templateProblem('{name:a=1}', { names: spec.names, noun: 'placeholder' })).toBe('{name:a=1}: a placeholder takes no value map');
    expect(templateProblem('{"json": "{name}"}', spec)).toBeUndefined();
  });

  it('never throws on a lone surrogate (a value read back from storage)', () => {
    expect(fillTemplate('{name}', { ...values, name: 'a\uD800' }, 'url', spec)).toBe('a%EF%BF%BD');
    expect(encoders.header('\u0000')).toBe('%00');
  });
});

import { area, axisBottom, axisLeft, line, scaleBand, scaleLinear, scalePoint, select } from 'd3';
import { valueDomain, type Bar } from './chart-data.js';

/** Horizontal bars of one metric by label, in the table's order; nothing at all when there are no rows. */
export function barChart(container: HTMLElement, data: Bar[], title: string): void {
  if (data.length === 0) {
    container.replaceChildren();
    return;
  }
  const width = Math.max(320, container.clientWidth || 640);
  const barHeight = 22;
  // Narrow screens give the labels less room and the bars more.
  const margin = { top: 8, right: 24, bottom: 24, left: width < 480 ? 110 : 180 };
  const maxLabel = width < 480 ? 16 : 28;
  const height = margin.top + margin.bottom + barHeight * data.length;
  const x = scaleLinear().domain(valueDomain(data)).range([margin.left, width - margin.right]);
  const y = scaleBand()
    .domain(data.map((_, i) => String(i)))
    .range([margin.top, height - margin.bottom])
    .padding(0.15);

  const svg = select(container).selectAll('svg').data([null]).join('svg').attr('viewBox', `0 0 ${width} ${height}`).attr('role', 'img').attr('aria-label', title);
  svg.selectAll('*').remove();
  svg
    .append('g')
    .selectAll('rect')
    .data(data)
    .join('rect')
    .attr('class', (d) => (d.value < 0 ? 'bar negative' : 'bar'))
    .attr('x', (d) => x(Math.min(0, d.value)))
    .attr('y', (_, i) => y(String(i))!)
    .attr('width', (d) => Math.abs(x(d.value) - x(0)))
    .attr('height', y.bandwidth())
    .append('title')
    .text((d) => `${d.label}: ${d.value.toLocaleString('en')}`);
  svg
    .append('g')
    .selectAll('text')
    .data(data)
    .join('text')
    .attr('class', 'label')
    .attr('x', margin.left - 6)
    .attr('y', (_, i) => y(String(i))! + y.bandwidth() / 2)
    .attr('dy', '0.35em')
    .attr('text-anchor', 'end')
    .text((d) => (d.label.length > maxLabel ? `${d.label.slice(0, maxLabel - 1)}…` : d.label));
  svg
    .append('g')
    .attr('transform', `translate(0,${height - margin.bottom})`)
    .call(axisBottom(x).ticks(Math.max(2, Math.floor(width / 120))));
}

/**
 * One metric over the range's hours or days: an area with its line, a tick label every few
 * buckets, and each bucket's value as a tooltip (a hover target per bucket).
 */
export function seriesChart(container: HTMLElement, data: Bar[], title: string, format: (value: number) => string): void {
  if (data.length === 0) {
    container.replaceChildren();
    return;
  }
  const width = Math.max(320, container.clientWidth || 640);
  const height = width < 480 ? 150 : 180;
  const margin = { top: 10, right: 16, bottom: 24, left: 56 };
  const x = scalePoint()
    .domain(data.map((d) => d.label))
    .range([margin.left, width - margin.right]);
  const y = scaleLinear().domain(valueDomain(data)).nice().range([height - margin.bottom, margin.top]);
  const at = (d: Bar) => x(d.label)!;

  const svg = select(container).selectAll('svg').data([null]).join('svg').attr('viewBox', `0 0 ${width} ${height}`).attr('role', 'img').attr('aria-label', title);
  svg.selectAll('*').remove();
  svg
    .append('path')
    .datum(data)
    .attr('class', 'area')
    .attr('d', area<Bar>().x(at).y0(y(0)).y1((d) => y(d.value)));
  svg
    .append('path')
    .datum(data)
    .attr('class', 'line')
    .attr('d', line<Bar>().x(at).y((d) => y(d.value)));
  // Hours read as 14:00, days as 12-02; a label every few buckets so that they never overlap.
  const every = Math.max(1, Math.ceil(data.length / Math.max(2, Math.floor(width / 70))));
  const short = (label: string) => (label.length > 10 ? label.slice(11) : label.slice(5));
  svg
    .append('g')
    .attr('transform', `translate(0,${height - margin.bottom})`)
    .call(
      axisBottom(x)
        .tickValues(data.filter((_, i) => i % every === 0).map((d) => d.label))
        .tickFormat(short),
    );
  svg.append('g').attr('transform', `translate(${margin.left},0)`).call(axisLeft(y).ticks(4));
  const step = data.length > 1 ? at(data[1]!) - at(data[0]!) : width - margin.left - margin.right;
  svg
    .append('g')
    .selectAll('rect')
    .data(data)
    .join('rect')
    .attr('class', 'hover')
    .attr('x', (d) => at(d) - step / 2)
    .attr('y', margin.top)
    .attr('width', step)
    .attr('height', height - margin.top - margin.bottom)
    .append('title')
    .text((d) => `${d.label.replace('T', ' ')}: ${format(d.value)}`);
}

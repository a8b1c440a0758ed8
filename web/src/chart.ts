import { axisBottom, max, scaleBand, scaleLinear, select } from 'd3';

/** Horizontal bars of one metric by label, largest first (the rows come sorted from the API). */
export function barChart(container: HTMLElement, data: { label: string; value: number }[]): void {
  const width = Math.max(320, container.clientWidth || 640);
  const barHeight = 22;
  const margin = { top: 8, right: 24, bottom: 24, left: 180 };
  const height = margin.top + margin.bottom + barHeight * data.length;
  const x = scaleLinear()
    .domain([0, max(data, (d) => d.value) || 1])
    .range([margin.left, width - margin.right]);
  const y = scaleBand()
    .domain(data.map((d) => d.label))
    .range([margin.top, height - margin.bottom])
    .padding(0.15);

  const svg = select(container).selectAll('svg').data([null]).join('svg').attr('viewBox', `0 0 ${width} ${height}`).attr('role', 'img');
  svg.selectAll('*').remove();
  svg
    .append('g')
    .selectAll('rect')
    .data(data)
    .join('rect')
    .attr('class', 'bar')
    .attr('x', x(0))
    .attr('y', (d) => y(d.label)!)
    .attr('width', (d) => x(d.value) - x(0))
    .attr('height', y.bandwidth());
  svg
    .append('g')
    .selectAll('text')
    .data(data)
    .join('text')
    .attr('class', 'label')
    .attr('x', margin.left - 6)
    .attr('y', (d) => y(d.label)! + y.bandwidth() / 2)
    .attr('dy', '0.35em')
    .attr('text-anchor', 'end')
    .text((d) => (d.label.length > 28 ? `${d.label.slice(0, 27)}…` : d.label || '(none)'));
  svg
    .append('g')
    .attr('transform', `translate(0,${height - margin.bottom})`)
    .call(axisBottom(x).ticks(Math.max(2, Math.floor(width / 120))));
}

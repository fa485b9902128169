// Apache ECharts, with only what the page draws registered, so the bundle
// carries bar and line charts and not the library's other thirty types.
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

// SVG rather than canvas: the text is real text in the page's fonts, sharp
// at any zoom, and a handful of charts of at most a hundred bars each is
// well within what SVG draws quickly.
echarts.use([BarChart, LineChart, AriaComponent, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, SVGRenderer]);

export const FONT = '"Noto Sans", "Noto Sans Georgian", system-ui, sans-serif';

// Okabe and Ito's palette: told apart with the common colour-vision
// deficiencies.
export const COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

// base is what every chart shares: no animation (a dashboard is read, not
// watched, and it honours reduced-motion without asking), the page's font,
// the palette, and ECharts' aria support with the description given.
export function base(description) {
  return {
    animation: false,
    color: COLORS,
    textStyle: { fontFamily: FONT, fontSize: 12, color: '#1f2933' },
    aria: { enabled: true, label: { enabled: true, description } },
  };
}

// mount makes (or finds) the ECharts instance of a container, resized with
// it.
export function mount(el) {
  const existing = echarts.getInstanceByDom(el);
  if (existing) return existing;
  const chart = echarts.init(el, null, { renderer: 'svg' });
  // Redraw when the box changes size (a rotated phone, a resized window),
  // not on the observer's first call, which reports the size just drawn at.
  new ResizeObserver(([entry]) => {
    const { width, height } = entry.contentRect;
    if (Math.round(width) !== chart.getWidth() || Math.round(height) !== chart.getHeight()) chart.resize();
  }).observe(el);
  return chart;
}

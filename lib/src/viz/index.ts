export * from './spec';
export * from './figures';
export * from './echarts';
export * from './plotly';
export * from './png';
export * from './grid';
export * from './notebook';

export * from './classification';
export * from './calibration';
export * from './report';
export * from './mistakes';
export * from './evaluate';

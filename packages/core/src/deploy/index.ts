/** The deploy family: what every deploy target (Marathon, Kubernetes) and rollback share. */
export * from './labels.js';
export * from './image.js';
export * from './template.js';

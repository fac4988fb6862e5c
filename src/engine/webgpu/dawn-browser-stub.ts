// Stands in for the `webgpu` package (Dawn's Node addon) in the browser bundle, where navigator.gpu is used.
export function create(): never {
  throw new Error('the webgpu package is for Node; in a browser the engine uses navigator.gpu');
}
export const globals = {};

export { ROUTES, matchesRoute, routesFor, acceptedTypes } from './routes.js';
export type { Route } from './routes.js';

export { ROUTES, matchesRoute, routesFor, acceptedTypes } from './routes.js';
export type { Route } from './routes.js';
export { WATCHED_RESOURCES, SCRAPE_PING } from './sources.js';
export type { WatchedResource } from './sources.js';
export { PERMISSIONS, STORE_RULES, sourceRules } from './permissions.js';
export type { Rule } from './permissions.js';

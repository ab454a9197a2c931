export { DevBroker } from './dev-broker.js';
export type { DevBrokerOptions, DeliveryRecord, DeadLetter } from './dev-broker.js';

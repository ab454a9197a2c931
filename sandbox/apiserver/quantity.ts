// The sandbox uses the same quantity arithmetic as the functions.
export { parseQuantity, formatCpu, formatMemory } from '../../shared/quantity/index.js';

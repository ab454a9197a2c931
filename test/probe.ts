import { startTestApiServer } from './support/sandbox.js';
const s = await startTestApiServer();
console.log(s.kubeconfigPath);
process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
await new Promise(() => {});

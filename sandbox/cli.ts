import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { repoRoot } from '../shared/tools/index.js';
import { Sandbox } from './sandbox.js';
import { loadScenarios, scaleTo } from './simulator/scenario.js';

const positiveNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
};

const program = new Command('sandbox')
  .description('Run the kurative sandbox cluster: a Kubernetes API server double driven by a simulator')
  .option('--scenario <name>', 'scenario to run')
  .option('--scenarios <dir>', 'directory of scenario files', resolve(repoRoot, 'sandbox/scenarios'))
  .option('--seed <n>', "seed (default: the scenario's)", (v) => Number.parseInt(v, 10))
  .option('--speed <x>', 'simulated seconds per real second', positiveNumber, 10)
  .option('--port <port>', 'API server port (default: any free port)', (v) => Number.parseInt(v, 10))
  .option('--dir <dir>', 'where to write the kubeconfig', resolve(repoRoot, '.sandbox'))
  .option('--pods <n>', 'scale the scenario to about this many pods (copies of its workloads)', (v) =>
    Number.parseInt(v, 10),
  )
  .option('--nodes <n>', 'scale the scenario to about this many nodes', (v) => Number.parseInt(v, 10))
  .option('--list', 'print the scenario names and exit')
  .action(
    async (opts: {
      scenario?: string;
      scenarios: string;
      seed?: number;
      speed: number;
      port?: number;
      dir: string;
      list?: boolean;
      pods?: number;
      nodes?: number;
    }) => {
      const scenarios = loadScenarios(resolve(opts.scenarios));
      if (opts.list) {
        for (const s of scenarios) console.log(s.name);
        return;
      }
      const name = opts.scenario ?? 'memory-leak';
      const found = scenarios.find((s) => s.name === name);
      const scaled = opts.pods !== undefined || opts.nodes !== undefined;
      const scenario =
        found && scaled ? scaleTo(found, { pods: opts.pods ?? 1, nodes: opts.nodes ?? 1 }) : found;
      if (!scenario) {
        console.error(`unknown scenario ${JSON.stringify(name)}; try --list`);
        process.exitCode = 2;
        return;
      }
      const sandbox = await Sandbox.start({
        scenario,
        dir: resolve(opts.dir, scenario.name),
        startAt: Math.floor(Date.now() / 60_000) * 60_000,
        ...(opts.seed === undefined ? {} : { seed: opts.seed }),
        ...(opts.port === undefined ? {} : { port: opts.port }),
      });
      console.log(`KUBECONFIG=${resolve(sandbox.kubeconfigPath)}`);
      console.error(`sandbox: scenario ${scenario.name} at ${sandbox.url}, ${opts.speed}x; Ctrl-C to stop`);
      sandbox.run(opts.speed);
      const stop = () => {
        void sandbox.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  );

await program.parseAsync();

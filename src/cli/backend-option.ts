import { Option } from 'commander';

/** --backend auto|webgpu|cpu, defaulting to EMERGENT_BACKEND or auto. */
export function backendOption(): Option {
  return new Option('--backend <backend>', 'compute backend (default: $EMERGENT_BACKEND or auto)').choices(['auto', 'webgpu', 'cpu']);
}

// Activation functions by their transformers config name (`hidden_act`, `projector_hidden_act`),
// so a config string picks the composite from @mmit/tensor and unknown names fail with the list.
import { gelu, geluTanh, quickGelu, silu, type Value } from '@mmit/tensor';

const activations: Record<string, (x: Value) => Value> = {
  silu,
  swish: silu,
  gelu,
  gelu_pytorch_tanh: geluTanh,
  gelu_new: geluTanh,
  quick_gelu: quickGelu,
};

export class UnknownActivationError extends Error {
  override name = 'UnknownActivationError';
}

export function act(name: string, x: Value): Value {
  const fn = activations[name];
  if (!fn) {
    throw new UnknownActivationError(
      `activation '${name}' is unknown; valid: ${Object.keys(activations).join(', ')}`,
    );
  }
  return fn(x);
}

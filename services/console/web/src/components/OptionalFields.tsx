// The optional fields of a form (lib/spec-fields.ts), grouped, inside a disclosure: a select for
// enums and switches (its first option is the service's default), a text input for the rest.
// Each problem is shown beside its field and tied to it with aria-describedby.
import type { OptionalField } from '../lib/spec-fields.js';

export function OptionalFields<Name extends string>(props: {
  idPrefix: string;
  /** The disclosure's label; without one the groups are shown in place. */
  summary?: string;
  fields: readonly OptionalField<Name>[];
  values: Partial<Record<Name, string>>;
  errors: Partial<Record<string, string>>;
  onChange: (name: Name, value: string) => void;
  /** Fields shown (default: all); e.g. the LoRA fields only when LoRA is on. */
  shown?: (field: OptionalField<Name>) => boolean;
}) {
  const fields = props.fields.filter((f) => props.shown?.(f) ?? true);
  const groups = [...new Set(fields.map((f) => f.group))];
  // Opened when a field inside has a problem, so the message is not hidden.
  const hasError = fields.some((f) => props.errors[f.name]);
  const content = groups.map((group) => (
    <fieldset key={group} className="option-group">
      <legend>{group}</legend>
      <div className="form-grid">
        {fields
          .filter((f) => f.group === group)
          .map((f) => (
            <OptionalInput
              key={f.name}
              id={`${props.idPrefix}-${f.name}`}
              field={f}
              value={props.values[f.name] ?? ''}
              error={props.errors[f.name]}
              onChange={(v) => props.onChange(f.name, v)}
            />
          ))}
      </div>
    </fieldset>
  ));
  if (props.summary === undefined) return <>{content}</>;
  return (
    <details className="more-options" open={hasError || undefined}>
      <summary>{props.summary}</summary>
      {content}
    </details>
  );
}

function OptionalInput<Name extends string>(props: {
  id: string;
  field: OptionalField<Name>;
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  const { id, field, error } = props;
  const describedBy =
    [field.hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    value: props.value,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
  } as const;
  const choices =
    field.kind.type === 'enum' ? field.kind.values : field.kind.type === 'boolean' ? ['true', 'false'] : null;
  return (
    <div className="field">
      <label htmlFor={id}>{field.label}</label>
      {choices ? (
        <select {...common} onChange={(e) => props.onChange(e.target.value)}>
          <option value="">default ({field.placeholder})</option>
          {choices.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      ) : (
        <input
          {...common}
          type="text"
          placeholder={field.placeholder}
          onChange={(e) => props.onChange(e.target.value)}
        />
      )}
      {field.hint && (
        <span id={`${id}-hint`} className="hint">
          {field.hint}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} className="field-error">
          {error}
        </span>
      )}
    </div>
  );
}

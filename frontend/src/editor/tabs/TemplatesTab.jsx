export default function TemplatesTab({ templates, onUse, canEdit }) {
  if (templates === null) return <p className="hint">Loading templates…</p>;
  return (
    <ul className="templates">
      {templates.map((template) => (
        <li key={template.slug} data-template={template.slug}>
          <strong>{template.name}</strong>
          <p className="hint">{template.description}</p>
          <button type="button" onClick={() => onUse(template.slug)} hidden={!canEdit}>
            Use this template
          </button>
        </li>
      ))}
    </ul>
  );
}


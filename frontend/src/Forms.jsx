import { useState } from "react";

/** A text box for a value that is not plain text (a list, a JSON object): the text is kept as
 * typed, and the value is committed whenever the text parses. */
export function ParsedText({ value, format, parse, multiline = false, placeholder, invalid, ...rest }) {
  const [text, setText] = useState(() => format(value));
  const [problem, setProblem] = useState("");
  const onChange = (event) => {
    const next = event.target.value;
    setText(next);
    const parsed = parse(next);
    if (parsed.ok) {
      setProblem("");
      rest.onCommit(parsed.value);
    } else {
      setProblem(parsed.error);
    }
  };
  const Tag = multiline ? "textarea" : "input";
  return (
    <>
      <Tag
        className={problem || invalid ? "invalid" : ""}
        value={text}
        placeholder={placeholder}
        onChange={onChange}
        rows={multiline ? 4 : undefined}
        aria-label={rest["aria-label"]}
        name={rest.name}
      />
      {problem && <div className="field-problem">{problem}</div>}
    </>
  );
}

export const listText = {
  format: (value) => (Array.isArray(value) ? value.join(", ") : value ? String(value) : ""),
  parse: (text) => ({
    ok: true,
    value: text
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  }),
};

export const jsonText = {
  format: (value) => (value === undefined || value === null ? "" : JSON.stringify(value, null, 2)),
  parse: (text) => {
    if (!text.trim()) return { ok: true, value: undefined };
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (error) {
      return { ok: false, error: `not valid JSON: ${error.message}` };
    }
  },
};

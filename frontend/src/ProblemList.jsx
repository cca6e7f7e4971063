/** A list of problems, each a button that selects what it concerns (editor: validation problems;
 * monitor: failed steps). A problem is `{node_id?, edge_id?, message}`. */
export default function ProblemList({ problems, onSelect, title = "Problems", empty = "None." }) {
  return (
    <section className="problems" aria-label={title}>
      <h3>
        {title} ({problems.length})
      </h3>
      {problems.length === 0 ? (
        <p className="hint">{empty}</p>
      ) : (
        <ul>
          {problems.map((problem, index) => (
            <li key={index}>
              <button type="button" className="link" onClick={() => onSelect(problem)}>
                {problem.node_id || problem.edge_id ? <code>{problem.edge_id || problem.node_id}</code> : null} {problem.message}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

// The tenant's media assets: search by name or a document's words, each asset's kind, status and
// name with its picture (a document's `thumb`, a video's `poster`, an image's `thumb`), a video's
// `web` variant playing in place, and a document's extracted text. Files come from the console's
// own media routes, which act in the tenant this page was opened in (an <img> cannot send X-Tenant).
import { useEffect, useState } from "react";
import { api, config, formatTime, nextPath, pageUrl } from "./api.js";
import TopBar from "./TopBar.jsx";

const PICTURE = { document: "thumb", video: "poster", image: "thumb" };

function variantUrl(asset, name) {
  return pageUrl(`${config.urls?.media || "/media/"}${asset.id}/variants/${name}`);
}

function has(asset, name) {
  return asset.variants.some((variant) => variant.name === name);
}

function seconds(value) {
  return value == null ? "" : `${Math.round(value * 10) / 10} s`;
}

function MediaCard({ asset }) {
  const picture = PICTURE[asset.kind];
  const showPicture = picture && has(asset, picture);
  const playable = asset.kind === "video" && has(asset, "web");
  return (
    <li className="media-card" data-asset={asset.id} data-kind={asset.kind}>
      <div className="media-visual">
        {playable ? (
          <video
            controls
            preload="metadata"
            src={variantUrl(asset, "web")}
            poster={has(asset, "poster") ? variantUrl(asset, "poster") : undefined}
            aria-label={`Play ${asset.original_name}`}
          />
        ) : showPicture ? (
          <img src={variantUrl(asset, picture)} alt={`${picture === "poster" ? "Poster" : "Thumbnail"} of ${asset.original_name}`} loading="lazy" />
        ) : (
          <span className="media-placeholder" aria-hidden="true">
            {asset.kind}
          </span>
        )}
      </div>
      <div className="media-info">
        <strong className="media-name">{asset.original_name}</strong>
        <div>
          <span className="tag">{asset.kind}</span> <span className={`status status-${asset.status}`}>{asset.status}</span>
        </div>
        {asset.error && <div className="field-problem">{asset.error}</div>}
        {asset.document && (
          <div className="hint">
            {asset.document.pages != null ? `${asset.document.pages} page(s) · ` : ""}
            {asset.document.characters} characters
          </div>
        )}
        {asset.video && (
          <div className="hint">
            {seconds(asset.video.duration_seconds)} · {asset.video.width}×{asset.video.height} · {asset.video.codec}
          </div>
        )}
        {playable && has(asset, "poster") && (
          <a href={variantUrl(asset, "poster")} className="hint-link">
            Poster image
          </a>
        )}
        {asset.kind === "document" && asset.document && (
          <a href={pageUrl(`${config.urls?.media || "/media/"}${asset.id}/text`)}>Extracted text</a>
        )}
        <div className="hint">{formatTime(asset.created_at)}</div>
      </div>
    </li>
  );
}

/** The Media page. */
export default function Media() {
  const [query, setQuery] = useState("");
  const [assets, setAssets] = useState(null);
  const [next, setNext] = useState(null);
  const [problem, setProblem] = useState("");

  useEffect(() => {
    const params = new URLSearchParams({ limit: "50" });
    if (query.trim()) params.set("q", query.trim());
    const timer = setTimeout(() => {
      api(`media/?${params}`)
        .then((page) => {
          setAssets(page.results);
          setNext(page.next);
          setProblem("");
        })
        .catch((error) => setProblem(error.message));
    }, 200);
    return () => clearTimeout(timer);
  }, [query]);

  const more = () =>
    api(nextPath(next))
      .then((page) => {
        setAssets((current) => [...current, ...page.results]);
        setNext(page.next);
      })
      .catch((error) => setProblem(error.message));

  return (
    <div className="console list-page">
      <TopBar title={`Media · ${config.tenant.name}`} />
      <main className="list-main">
        <section className="panel" aria-labelledby="media-heading">
          <h2 id="media-heading">Media</h2>
          <form className="filters" role="search" onSubmit={(event) => event.preventDefault()} aria-label="Find media">
            <label>
              Search
              <input type="search" name="q" className="media-search" value={query} onChange={(event) => setQuery(event.target.value)} placeholder="file name or words in a document" />
            </label>
          </form>
          {problem && (
            <p className="notice notice-error" role="alert">
              {problem}
            </p>
          )}
          {assets === null ? (
            <p className="hint">Loading…</p>
          ) : assets.length === 0 ? (
            <p className="hint">{query ? "Nothing matches." : "No media yet: upload files with POST /api/v1/media."}</p>
          ) : (
            <ul className="media-grid" aria-label="Media assets">
              {assets.map((asset) => (
                <MediaCard key={asset.id} asset={asset} />
              ))}
            </ul>
          )}
          {next && (
            <button type="button" onClick={more}>
              More
            </button>
          )}
        </section>
      </main>
    </div>
  );
}

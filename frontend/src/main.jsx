import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { config } from "./api.js";
import Dashboard from "./Dashboard.jsx";
import Editor from "./Editor.jsx";
import Inbox from "./Inbox.jsx";
import Media from "./Media.jsx";
import Runs from "./Runs.jsx";
import Settings from "./Settings.jsx";
import Usage from "./Usage.jsx";
import Webhooks from "./Webhooks.jsx";
import Workflow from "./Workflow.jsx";
import Workflows from "./Workflows.jsx";
import Monitor from "./Monitor.jsx";

const PAGES = { dashboard: Dashboard, editor: Editor, monitor: Monitor, inbox: Inbox, media: Media, runs: Runs, workflows: Workflows, workflow: Workflow, usage: Usage, webhooks: Webhooks, settings: Settings };
const Page = PAGES[config.page] || Dashboard;

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <Page />
  </StrictMode>,
);

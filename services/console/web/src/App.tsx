// The console's shell: header with navigation and the API key, then the page for the current path.
import type { ReactNode } from 'react';
import { useApiKey } from './api/api-key.js';
import { ApiKeyControl } from './components/ApiKeyControl.js';
import { Link, matchPath, useLocation } from './lib/router.js';
import { CorporaPage } from './pages/corpora/CorporaPage.js';
import { DatasetsPage } from './pages/datasets/DatasetsPage.js';
import { FeaturesPage } from './pages/features/FeaturesPage.js';
import { PlaygroundPage } from './pages/playground/PlaygroundPage.js';
import { RunsPage } from './pages/runs/RunsPage.js';

const SECTIONS = [
  { path: '/corpora', label: 'Corpora' },
  { path: '/datasets', label: 'Datasets' },
  { path: '/features', label: 'Feature jobs' },
  { path: '/runs', label: 'Runs' },
  { path: '/playground', label: 'Playground' },
] as const;

/** Pages with an id in the path, then the plain sections; the first match wins. */
const DETAIL_ROUTES: { pattern: string; render: (id: string) => ReactNode }[] = [
  { pattern: '/corpora/:id', render: (id) => <CorporaPage corpusId={id} /> },
  { pattern: '/datasets/:id', render: (id) => <DatasetsPage datasetId={id} /> },
  { pattern: '/runs/:id', render: (id) => <RunsPage runId={id} /> },
];

function pageFor(path: string): ReactNode {
  for (const route of DETAIL_ROUTES) {
    const params = matchPath(route.pattern, path);
    if (params) return route.render(params.id);
  }
  if (path === '/datasets') return <DatasetsPage />;
  if (path === '/features') return <FeaturesPage />;
  if (path === '/runs') return <RunsPage />;
  if (path === '/playground') return <PlaygroundPage />;
  return <CorporaPage />;
}

export function App() {
  const { path } = useLocation();
  // A new key remounts the page, so everything it shows is fetched again with that key.
  const apiKey = useApiKey();
  const section = SECTIONS.find((s) => path === s.path || path.startsWith(`${s.path}/`)) ?? SECTIONS[0];
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">mmit console</span>
        <nav aria-label="Sections">
          <ul>
            {SECTIONS.map((s) => (
              <li key={s.path}>
                <Link to={s.path} aria-current={s === section ? 'page' : undefined}>
                  {s.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <ApiKeyControl />
      </header>
      <main id="main" tabIndex={-1} key={apiKey ?? ''}>
        {pageFor(path)}
      </main>
    </>
  );
}

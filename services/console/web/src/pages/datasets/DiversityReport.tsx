// The diversity report of a dataset as charts: how long instructions and answers are, how many
// turns samples have, and which openings and verb-noun pairs dominate (Self-Instruct's plot, as
// ranked bars).
import type { DiversityReport as Report } from '../../api/types.js';
import { BarList, histogramBars } from '../../components/BarList.js';
import { formatCount, formatPercent } from '../../lib/format.js';

export function DiversityReport(props: { report: Report }) {
  const r = props.report;
  return (
    <section aria-labelledby="diversity-heading">
      <h2 id="diversity-heading">Diversity</h2>
      <dl className="stats">
        <div>
          <dt>Instructions</dt>
          <dd>{formatCount(r.instructions)}</dd>
        </div>
        <div>
          <dt>Distinct instructions</dt>
          <dd>
            {formatCount(r.distinctInstructions)}
            {r.instructions > 0 && ` (${formatPercent(r.distinctInstructions / r.instructions)})`}
          </dd>
        </div>
        <div>
          <dt>Distinct openings</dt>
          <dd>{formatCount(r.distinctOpenings)}</dd>
        </div>
      </dl>
      <div className="chart-grid">
        <BarList title="Instruction length (words)" unit="Words" bars={histogramBars(r.instructionWords)} />
        <BarList title="Answer length (words)" unit="Words" bars={histogramBars(r.answerWords)} />
        <BarList title="Turns per sample" unit="Turns" bars={histogramBars(r.turnsPerSample)} />
        <BarList
          title="Most common instruction openings"
          unit="Opening"
          bars={r.topOpenings.slice(0, 12).map((o) => ({ label: o.opening, value: o.count }))}
        />
        <BarList
          title="Most common verb–noun pairs"
          unit="Verb, noun"
          bars={r.topVerbNouns.slice(0, 12).map((v) => ({ label: `${v.verb} ${v.noun}`, value: v.count }))}
        />
      </div>
    </section>
  );
}

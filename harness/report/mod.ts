/**
 * Reporting: console progress, summary table, JUnit XML, the self-contained HTML report and the stored
 * results (`results.json`) that `--repeat` and `--rerun-failed` work from.
 *
 * @module
 */
export { consoleProgress, type JunitRun, junitXml, summaryTable } from "./report.ts";
export { htmlReport } from "./html.ts";
export * from "./results.ts";

/**
 * Reporting: console progress, summary table, JUnit XML.
 *
 * @module
 */
export { consoleProgress, junitXml, summaryTable } from "./report.ts";

// Allure Report 3 configuration for Tally runs (`python -m reports allure RUN_DIR`).
// Plain object on purpose: this file lives outside reports/node/, so it cannot import
// the `allure` package; Allure accepts a bare config object as the default export.
// Categories mirror reports/allure.py (Allure 2 categories.json); the first match wins.
export default {
  name: "Tally conformance run",
  categories: {
    rules: [
      {
        id: "inconclusive-guard-band",
        name: "Inconclusive (guard band)",
        // an INCONCLUSIVE measurement and no FAIL: line (harness.plugin.classify)
        matchers: { statuses: ["failed"], message: /^(?![\s\S]*FAIL:)[\s\S]*INCONCLUSIVE/ },
        groupByMessage: true,
      },
      {
        id: "device-non-conformance",
        name: "Device non-conformance",
        matchers: { statuses: ["failed"] },
        groupByMessage: true,
      },
      {
        id: "bench-fault",
        name: "Bench fault",
        matchers: { statuses: ["broken"] },
        groupByMessage: true,
      },
    ],
  },
  plugins: {
    awesome: {
      options: {
        singleFile: process.env.TALLY_ALLURE_SINGLE_FILE === "1",
        reportLanguage: "en",
        groupBy: ["epic", "feature", "story"],
      },
    },
  },
};

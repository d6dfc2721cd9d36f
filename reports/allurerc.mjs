// Allure Report 3 configuration for Tally runs (`python -m reports allure RUN_DIR`).
// Plain object on purpose: this file lives outside reports/node/, so it cannot import
// the `allure` package; Allure accepts a bare config object as the default export.
// Categories mirror harness/record/allure_files.py (Allure 2 categories.json).
export default {
  name: "Tally conformance run",
  categories: {
    rules: [
      // By status alone: the harness sets each result's status from the test's typed
      // verdict (harness/record/allure_files.py settle_statuses), never from its text.
      {
        id: "device-non-conformance",
        name: "Device non-conformance",
        matchers: { statuses: ["failed"] },
        groupByMessage: true,
      },
      {
        id: "inconclusive",
        name: "Inconclusive (guard band or nothing observed)",
        matchers: { statuses: ["unknown"] },
        groupByMessage: true,
      },
      {
        id: "bench-fault",
        name: "Bench fault",
        matchers: { statuses: ["broken"] },
        groupByMessage: true,
      },
      {
        id: "not-tested",
        name: "Not tested",
        matchers: { statuses: ["skipped"] },
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

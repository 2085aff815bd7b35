// Headless Node-RED for bench/ingest.py: no editor, no admin API, no telemetry, warnings only.
module.exports = {
    flowFile: process.env.BENCH_FLOW_FILE,
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    logging: { console: { level: "warn", metrics: false, audit: false } },
    functionGlobalContext: {},
};

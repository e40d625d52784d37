/** Replaced at build time by scripts/build-binaries.ts (`define`); a dev marker otherwise. */
declare const RF_BUILD_VERSION: string | undefined;

export const AGENT_VERSION: string = typeof RF_BUILD_VERSION === "string" ? RF_BUILD_VERSION : "0.1.0-dev";

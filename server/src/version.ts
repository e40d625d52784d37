/** Replaced at build time by scripts/build-binaries.ts (`define`); the package version otherwise. */
declare const RF_BUILD_VERSION: string | undefined;

export const SERVER_VERSION: string = typeof RF_BUILD_VERSION === "string" ? RF_BUILD_VERSION : "0.1.0-dev";

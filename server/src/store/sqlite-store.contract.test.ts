import { openDatabase } from "./db.ts";
import { createStore } from "./store.ts";
import { storeContract } from "./store-contract.ts";

// The SQLite store against the contract every Store implementation must pass (store-contract.ts).
storeContract("SQLite", () => createStore(openDatabase(":memory:")));

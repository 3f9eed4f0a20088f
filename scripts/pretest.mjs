// Before the tests: the build (which the tests run) and the type check, side by side
// on the machine's cores; either failing fails the run.
import { spawn } from "node:child_process";

const run = (script) =>
  new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", script], { stdio: "inherit" });
    child.on("exit", (code) => resolve(code === 0));
  });

const results = await Promise.all([run("build"), run("typecheck")]);
if (results.includes(false)) process.exit(1);

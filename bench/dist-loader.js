// `node --import ./bench/dist-loader.js .tmp/bench-compiled/bench/servers/<name>.js`: see dist-hooks.js.
import { register } from "node:module";

register("./dist-hooks.js", import.meta.url);

// Builds src/main.jsx into one ES module and one stylesheet for the verification page.
//
// The output goes into the hireproof layer's static folder, which the page function serves
// at verify/assets/liveness/. That folder is build output and stays out of git.
import { fileURLToPath } from "node:url";

import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const outDir = fileURLToPath(new URL("../../layers/common/hireproof/web/static/liveness/", import.meta.url));

export default defineConfig({
  plugins: [react()],
  // Library mode leaves process.env.NODE_ENV in the code, and React reads it to pick its build.
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    outDir,
    emptyOutDir: true,
    // The page function serves text files only, so no source maps and no inlined-asset split.
    sourcemap: false,
    lib: {
      entry: fileURLToPath(new URL("src/main.jsx", import.meta.url)),
      formats: ["es"],
      fileName: () => "hireproof-liveness.js",
      cssFileName: "hireproof-liveness",
    },
    rollupOptions: {
      // One file: the page loads a single script, and chunk names would change with every build.
      output: { codeSplitting: false },
    },
  },
});

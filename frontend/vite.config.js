import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// One bundle with fixed names (no hashes): the built files are committed under static/console/,
// and `make frontend-check` compares a fresh build with them byte for byte.
export default defineConfig({
  plugins: [react()],
  base: "/static/console/",
  build: {
    outDir: fileURLToPath(new URL("../static/console", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    cssCodeSplit: false,
    rollupOptions: {
      input: fileURLToPath(new URL("src/main.jsx", import.meta.url)),
      output: {
        entryFileNames: "console.js",
        chunkFileNames: "console-[name].js",
        assetFileNames: "console[extname]",
      },
    },
  },
});

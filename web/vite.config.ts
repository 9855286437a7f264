// The build goes to TANDEM_WEB_OUT when set (CMake points it into its build folder, so the
// release and sanitizer builds never share one), else to dist/.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: process.env.TANDEM_WEB_OUT ?? "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // Everything stays a file under /assets: the Content-Security-Policy allows no inline code.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022",
    sourcemap: false,
  },
});

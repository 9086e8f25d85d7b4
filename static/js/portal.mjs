// Starts the NHS.UK design system's components (error summary focus, radios, header menu).
import { initAll } from "../vendor/nhsuk/nhsuk-frontend.min.js";

initAll();

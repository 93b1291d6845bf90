// Prisma runs one statement per call (`$executeRawUnsafe`); the splitter is shared with exec() on the primary.
export { splitStatements } from '../../sqlite/script.js';

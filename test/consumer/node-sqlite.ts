import { type DriverName, type LiteFSForwardOptions, openDatabase, SqliteError } from 'litefs-forward';

const driver: DriverName = 'node:sqlite';
const options: LiteFSForwardOptions = { path: ':memory:', mode: 'local', driver };
const database = await openDatabase(options);
try {
  await database.run('SELECT 1');
} catch (error) {
  if (error instanceof SqliteError) {
    const code: string = error.code;
    const errcode: number = error.errcode;
    void [code, errcode];
  }
}
await database.close();

// In a project with only better-sqlite3: each adapter subpath must name the package to install.
import assert from 'node:assert/strict';

const expected = { 'litefs-forward/kysely': 'kysely', 'litefs-forward/drizzle': 'drizzle-orm', 'litefs-forward/prisma': '@prisma/driver-adapter-utils' };
for (const [subpath, peer] of Object.entries(expected)) {
  await assert.rejects(import(subpath), (error) => {
    assert.equal(error.code, 'ERR_MODULE_NOT_FOUND');
    assert.equal(error.packageName, peer);
    assert.ok(error.message.includes(`npm install ${peer}`), error.message);
    assert.ok(error.message.startsWith(subpath), error.message);
    return true;
  });
  console.log(`missing peer of ${subpath}: ${peer} named`);
}

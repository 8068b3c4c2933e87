/**
 * The folders of a FileStore's model registry (registry.ts): reading and writing one model's
 * meta.yaml, tags, aliases and `version-N` folders, the registry lock, and staging folders.
 * FileRegistry decides what to write; this is how it is laid out on disk.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { isMissing, readDirIfExists, replaceFile, TEMP_PREFIX } from "../../atomic.ts";
import type { ModelVersion, RegisteredModel } from "../../entities.ts";
import { withLock } from "../../lock.ts";
import { REGISTRY_LOCK_FILE } from "../../tree-files.ts";
import {
  latestVersions,
  modelNotFound,
  STAGE_DELETED_INTERNAL,
  versionNotFound,
} from "../registry.ts";
import { prepareKeyFile, readKeyValues } from "./key-files.ts";
import { REGISTRY } from "./layout.ts";
import { asTreeError, type ProblemHandler, TreeError, utf8Text } from "./problems.ts";
import {
  modelDocument,
  readModelDocument,
  readVersionDocument,
  type StoredModel,
  type StoredVersion,
  versionDocument,
} from "./registry-meta.ts";
import { fromYaml, toYaml, yamlProblem } from "./yaml.ts";

export const VERSION_PREFIX = "version-";
export const META = "meta.yaml";

/** Whether a rename failed because its target is there already. */
export const isTaken = (error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EEXIST" || code === "ENOTEMPTY" || code === "EISDIR";
};

export const tempName = () => `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`;

export interface FileRegistryOptions {
  root: string;
  /** False while the store has no tree yet (nothing to read); throws for a folder that is not one. */
  hasTree: () => Promise<boolean>;
  /** A folder on the same filesystem where MLflow never looks, for building models. */
  stagingParent: () => Promise<string>;
  onProblem: ProblemHandler;
}

export class ModelFolders {
  readonly root: string;
  /** `<root>/models`. */
  readonly models: string;
  readonly stagingParent: () => Promise<string>;
  readonly #lock: string;
  readonly #hasTree: () => Promise<boolean>;
  readonly #onProblem: ProblemHandler;

  constructor(options: FileRegistryOptions) {
    this.root = options.root;
    this.models = join(options.root, REGISTRY);
    this.#lock = join(options.root, REGISTRY_LOCK_FILE);
    this.stagingParent = options.stagingParent;
    this.#hasTree = options.hasTree;
    this.#onProblem = options.onProblem;
  }

  modelDir(name: string): string {
    return join(this.models, name);
  }

  /** A meta.yaml document; undefined when missing, a TreeError naming it when unreadable. */
  async #readYaml(path: string): Promise<unknown> {
    let text: string;
    try {
      text = utf8Text(path, await fs.readFile(path));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw asTreeError(path, error);
    }
    if (text.trim() === "") throw new TreeError({ path, message: "meta.yaml is empty" });
    try {
      return fromYaml(text);
    } catch (error) {
      throw new TreeError({ path, message: yamlProblem(error) });
    }
  }

  /** The stored model, or undefined when its folder (or meta.yaml) does not exist. */
  async readModel(dir: string, folderName: string): Promise<StoredModel | undefined> {
    const document = await this.#readYaml(join(dir, META));
    if (document === undefined) return undefined;
    const model = readModelDocument(document, folderName);
    if (typeof model === "string") throw new TreeError({ path: join(dir, META), message: model });
    return model;
  }

  async existingModel(name: string): Promise<{ dir: string; model: StoredModel }> {
    const dir = this.modelDir(name);
    const model = (await this.#hasTree()) ? await this.readModel(dir, name) : undefined;
    if (model === undefined) throw modelNotFound(name);
    return { dir, model };
  }

  /** The model's aliases; an alias file that cannot be read is reported and skipped. */
  async aliases(dir: string): Promise<Record<string, string>> {
    let names: string[];
    try {
      names = await fs.readdir(join(dir, "aliases"));
    } catch (error) {
      if (isMissing(error)) return {};
      throw asTreeError(join(dir, "aliases"), error);
    }
    const aliases: Record<string, string> = {};
    for (const name of names.sort()) {
      const path = join(dir, "aliases", name);
      try {
        aliases[name] = utf8Text(path, await fs.readFile(path)).trim();
      } catch (error) {
        if (!isMissing(error)) this.#onProblem(asTreeError(path, error).problem);
      }
    }
    return aliases;
  }

  /** Every version folder of a model (deleted ones too), by number. */
  async versionNumbers(dir: string): Promise<number[]> {
    return (await readDirIfExists(dir))
      .filter((e) => e.isDirectory() && e.name.startsWith(VERSION_PREFIX))
      .map((e) => Number(e.name.slice(VERSION_PREFIX.length)))
      .filter((n) => Number.isSafeInteger(n))
      .sort((a, b) => a - b);
  }

  async readVersion(dir: string, number: number): Promise<StoredVersion | undefined> {
    const path = join(dir, `${VERSION_PREFIX}${number}`, META);
    const document = await this.#readYaml(path);
    if (document === undefined) return undefined;
    const version = readVersionDocument(document);
    if (typeof version === "string") throw new TreeError({ path, message: version });
    return version;
  }

  async toVersion(
    dir: string,
    stored: StoredVersion,
    aliases: Record<string, string>,
  ): Promise<ModelVersion> {
    const { storageLocation: _, ...version } = stored;
    const tags = await readKeyValues(join(dir, `${VERSION_PREFIX}${stored.version}`, "tags"));
    const pointing = Object.keys(aliases).filter((a) => aliases[a] === stored.version);
    return { ...version, tags, aliases: pointing.sort() };
  }

  /** The visible versions of a model (broken ones reported and skipped). */
  async visibleVersions(dir: string, aliases: Record<string, string>): Promise<ModelVersion[]> {
    const versions: ModelVersion[] = [];
    for (const number of await this.versionNumbers(dir)) {
      try {
        const stored = await this.readVersion(dir, number);
        if (stored === undefined || stored.currentStage === STAGE_DELETED_INTERNAL) continue;
        versions.push(await this.toVersion(dir, stored, aliases));
      } catch (error) {
        if (!(error instanceof TreeError)) throw error;
        this.#onProblem(error.problem);
      }
    }
    return versions;
  }

  async toModel(dir: string, model: StoredModel): Promise<RegisteredModel> {
    const aliases = await this.aliases(dir);
    return {
      ...model,
      tags: await readKeyValues(join(dir, "tags")),
      aliases,
      latestVersions: latestVersions(await this.visibleVersions(dir, aliases)),
    };
  }

  /** `read()`, or undefined when it meets a broken file (reported): listings go on. */
  async reported<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof TreeError)) throw error;
      this.#onProblem(error.problem);
      return undefined;
    }
  }

  async allModelDirs(): Promise<{ dir: string; model: StoredModel }[]> {
    if (!(await this.#hasTree())) return [];
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fs.readdir(this.models, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const found: { dir: string; model: StoredModel }[] = [];
    for (const entry of entries.filter((e) => e.isDirectory())) {
      const dir = join(this.models, entry.name);
      try {
        const model = await this.readModel(dir, entry.name);
        if (model === undefined) {
          this.#onProblem({ path: dir, message: "model folder without meta.yaml (skipped)" });
        } else found.push({ dir, model });
      } catch (error) {
        if (!(error instanceof TreeError)) throw error;
        this.#onProblem(error.problem);
      }
    }
    return found;
  }

  async existingVersion(
    name: string,
    version: string,
  ): Promise<{ dir: string; model: StoredModel; stored: StoredVersion }> {
    const number = Number(version);
    const { dir, model } = await this.existingModel(name);
    const stored = await this.readVersion(dir, number);
    if (stored === undefined || stored.currentStage === STAGE_DELETED_INTERNAL) {
      throw versionNotFound(name, String(number));
    }
    return { dir, model, stored };
  }

  // ---- writing ----

  /** Runs `work` holding the registry lock; without a tree there is nothing to lock (or find). */
  async locked<T>(work: () => Promise<T>): Promise<T> {
    return (await this.#hasTree()) ? withLock(this.#lock, work) : work();
  }

  async writeModel(dir: string, model: StoredModel): Promise<void> {
    const document = modelDocument(model, await this.aliases(dir));
    await replaceFile(join(dir, META), toYaml(document), dir);
  }

  /** Bumps the model's last_updated_timestamp (MLflow does on every version, tag, alias change). */
  async touch(dir: string, model: StoredModel, now = Date.now()): Promise<void> {
    await this.writeModel(dir, { ...model, lastUpdatedTimestamp: now });
  }

  async writeVersion(dir: string, version: StoredVersion): Promise<void> {
    const versionDir = join(dir, `${VERSION_PREFIX}${version.version}`);
    await replaceFile(join(versionDir, META), toYaml(versionDocument(version)), versionDir);
  }

  async writeTags(owner: string, kind: string, tags: Record<string, string>): Promise<void> {
    for (const [key, value] of Object.entries(tags)) {
      const file = prepareKeyFile(join(owner, "tags"), kind, key);
      await replaceFile(file, value, owner);
    }
  }

  /** True when the tag was there; a missing tag is not an error, as in MLflow. */
  async removeTag(owner: string, key: string): Promise<boolean> {
    const file = join(owner, "tags", ...key.split("/"));
    try {
      if (!(await fs.stat(file)).isFile()) return false;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    await fs.rm(file, { force: true });
    return true;
  }

  /** A fresh staging folder (same filesystem, invisible to MLflow); removed by the caller. */
  async stage(): Promise<string> {
    const stage = join(await this.stagingParent(), tempName());
    await fs.mkdir(stage, { recursive: true });
    return stage;
  }
}

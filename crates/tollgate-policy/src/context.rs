//! The CI context a gate runs in: build kind, environment, branch, commit, tag, MR, pipeline.
//! Read from GitLab / GitHub variables and overridden by flags.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Build {
    Release,
    Debug,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub build: Build,
    /// True when nobody said which build this is: the gate then assumes `release` (fail closed).
    pub build_assumed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_url: Option<String>,
    /// `gitlab`, `github` or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<String>,
    /// `--context key=value` pairs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            build: Build::Release,
            build_assumed: true,
            environment: None,
            branch: None,
            commit: None,
            tag: None,
            merge_request: None,
            pipeline_url: None,
            ci: None,
            extra: BTreeMap::new(),
        }
    }
}

impl Context {
    /// Reads the CI variables through `var` (pass `|k| std::env::var(k).ok()`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Context {
        let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        let mut c = Context::default();
        if get("GITLAB_CI").is_some() || get("CI_PIPELINE_ID").is_some() {
            c.ci = Some("gitlab".into());
            c.commit = get("CI_COMMIT_SHA");
            c.branch =
                get("CI_COMMIT_BRANCH").or_else(|| get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"));
            c.merge_request = get("CI_MERGE_REQUEST_IID");
            c.tag = get("CI_COMMIT_TAG");
            c.environment = get("CI_ENVIRONMENT_NAME");
            c.pipeline_url = get("CI_PIPELINE_URL");
        } else if get("GITHUB_ACTIONS").is_some() {
            c.ci = Some("github".into());
            c.commit = get("GITHUB_SHA");
            c.branch = get("GITHUB_HEAD_REF").or_else(|| {
                (get("GITHUB_REF_TYPE").as_deref() != Some("tag"))
                    .then(|| get("GITHUB_REF_NAME"))
                    .flatten()
            });
            if get("GITHUB_REF_TYPE").as_deref() == Some("tag") {
                c.tag = get("GITHUB_REF_NAME");
            }
            if let Some(r) = get("GITHUB_REF") {
                // refs/pull/123/merge
                if let Some(n) = r
                    .strip_prefix("refs/pull/")
                    .and_then(|s| s.split('/').next())
                {
                    c.merge_request = Some(n.to_string());
                }
            }
            if let (Some(server), Some(repo), Some(run)) = (
                get("GITHUB_SERVER_URL"),
                get("GITHUB_REPOSITORY"),
                get("GITHUB_RUN_ID"),
            ) {
                c.pipeline_url = Some(format!("{server}/{repo}/actions/runs/{run}"));
            }
            c.environment = get("GITHUB_ENVIRONMENT");
        }
        if let Some(env) = get("TOLLGATE_ENVIRONMENT") {
            c.environment = Some(env);
        }
        if let Some(b) = get("TOLLGATE_BUILD") {
            if let Some(b) = parse_build(&b) {
                c.build = b;
                c.build_assumed = false;
            }
        }
        c
    }

    /// The environment rules are matched against. A release build whose environment nobody
    /// named is taken for production (fail closed, as an unnamed build is taken for a release).
    pub fn effective_environment(&self) -> Option<&str> {
        match (&self.environment, self.build) {
            (Some(env), _) => Some(env),
            (None, Build::Release) => Some(ASSUMED_ENVIRONMENT),
            (None, Build::Debug) => None,
        }
    }

    /// True when [`Context::effective_environment`] is an assumption, not what CI or a flag said.
    pub fn environment_assumed(&self) -> bool {
        self.environment.is_none() && self.build == Build::Release
    }

    pub fn set_build(&mut self, build: Build) {
        self.build = build;
        self.build_assumed = false;
    }
}

/// What a release build's unnamed environment is taken for.
pub const ASSUMED_ENVIRONMENT: &str = "production";

pub fn parse_build(text: &str) -> Option<Build> {
    match text.trim().to_ascii_lowercase().as_str() {
        "release" | "prod" | "production" => Some(Build::Release),
        "debug" | "dev" | "development" => Some(Build::Debug),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gitlab_and_github_variables() {
        let gl = Context::from_env(|k| match k {
            "GITLAB_CI" => Some("true".into()),
            "CI_COMMIT_SHA" => Some("abc".into()),
            "CI_COMMIT_BRANCH" => Some("main".into()),
            "CI_ENVIRONMENT_NAME" => Some("production".into()),
            "CI_MERGE_REQUEST_IID" => Some("42".into()),
            _ => None,
        });
        assert_eq!(gl.ci.as_deref(), Some("gitlab"));
        assert_eq!(
            (gl.branch.as_deref(), gl.environment.as_deref()),
            (Some("main"), Some("production"))
        );
        assert!(gl.build_assumed);
        let gh = Context::from_env(|k| match k {
            "GITHUB_ACTIONS" => Some("true".into()),
            "GITHUB_SHA" => Some("def".into()),
            "GITHUB_REF_NAME" => Some("v1.2".into()),
            "GITHUB_REF_TYPE" => Some("tag".into()),
            "GITHUB_SERVER_URL" => Some("https://github.com".into()),
            "GITHUB_REPOSITORY" => Some("o/r".into()),
            "GITHUB_RUN_ID" => Some("7".into()),
            "TOLLGATE_BUILD" => Some("debug".into()),
            _ => None,
        });
        assert_eq!(gh.tag.as_deref(), Some("v1.2"));
        assert_eq!(gh.branch, None);
        assert_eq!(
            gh.pipeline_url.as_deref(),
            Some("https://github.com/o/r/actions/runs/7")
        );
        assert_eq!((gh.build, gh.build_assumed), (Build::Debug, false));
    }
}

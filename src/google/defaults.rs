//! What Google documents about settings the Policy API may leave out, and how each setting's
//! policies combine. Only what is documented is here: a setting or field that is not listed has
//! no default, and an effective value that rests on it is unknown, never assumed.
//!
//! Sources:
//! - Reducers: "Policy API concepts", section "Reducers for settings",
//!   <https://cloud.google.com/identity/docs/concepts/policy-api-concepts#reducers_for_settings>
//!   (read in its zh-CN copy <https://docs.cloud.google.com/identity/docs/concepts/policy-api-concepts?hl=zh-cn>:
//!   `api_controls.unconfigured_third_party_apps` Merge, `drive_and_docs.external_sharing` Max).
//!   For every other setting the reducer could not be read from Google's page; the effective
//!   value is then computed both ways (Max and Merge) and is known only where they agree.
//! - Defaults: "Policy API concepts", section "Default field values",
//!   <https://cloud.google.com/identity/docs/concepts/policy-api-concepts#default_field_values>.
//!   That table could not be read from the stored copies of Google's page; the rows below are as
//!   CISA's ScubaGoggles transcribed it ("The following default values are taken directly from
//!   the documentation", `scubagoggles/policy_api.py` `_defaults`, commit 416a18ae), limited to
//!   the rows Google lists, never the ones ScubaGoggles adds itself (2SV enforcement "off",
//!   a zero grace period). Google's supported-settings page says a missing setting not in that
//!   table is a matter for Customer Care: <https://cloud.google.com/identity/docs/concepts/supported-policy-api-settings>.

use serde_json::{Value, json};

/// How a setting's policies are reduced to one value (Google's "reducer").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reducer {
    /// Every field from the policy with the greatest sortOrder (a field it leaves out takes the
    /// documented default, else is absent).
    Max,
    /// Each field from the policy with the greatest sortOrder that has it.
    Merge,
    /// Google's page gives none that could be read: both are computed and must agree.
    Undocumented,
}

/// The documentation a rule of this module rests on, for notes and docs/controls.md.
pub const REDUCERS_DOC: &str =
    "https://cloud.google.com/identity/docs/concepts/policy-api-concepts#reducers_for_settings";
pub const DEFAULTS_DOC: &str =
    "https://cloud.google.com/identity/docs/concepts/policy-api-concepts#default_field_values";

/// The reducer Google documents for `setting` (without the `settings/` prefix).
pub fn reducer(setting: &str) -> Reducer {
    match setting {
        // "api_controls.unconfigured_third_party_apps 合并 (Merge)".
        "api_controls.unconfigured_third_party_apps" => Reducer::Merge,
        // "drive_and_docs.external_sharing Max".
        "drive_and_docs.external_sharing" => Reducer::Max,
        _ => Reducer::Undocumented,
    }
}

/// Google's documented default for one field of a setting, when the API returns no policy that
/// sets it. Only the rows cloudkeur's controls read are kept; each is the documented value.
pub fn default_value(setting: &str, field: &str) -> Option<Value> {
    let value = match (setting, field) {
        // Less secure apps: off (MFA-05 may pass on it; CONTROLS.md says the same).
        ("security.less_secure_apps", "allowLessSecureApps") => json!(false),
        // Users may turn 2-Step Verification on (MFA-01 still needs enforcement, which has no
        // documented default).
        ("security.two_step_verification_enrollment", "allowEnrollment") => json!(true),
        // Any second factor, SMS and voice included (MFA-02/03 fail on it).
        ("security.two_step_verification_enforcement_factor", "allowedSignInFactorSet") => {
            json!("ALL")
        }
        // Sharing outside the organisation allowed, files publishable to anyone with the link
        // (SHR-01/04 fail on it).
        ("drive_and_docs.external_sharing", "externalSharingMode") => json!("ALLOWED"),
        ("drive_and_docs.external_sharing", "allowPublishingFiles") => json!(true),
        ("drive_and_docs.external_sharing", "allowNonGoogleInvites") => json!(true),
        ("drive_and_docs.external_sharing", "allowNonGoogleInvitesInAllowlistedDomains") => {
            json!(false)
        }
        ("drive_and_docs.external_sharing", "allowReceivingExternalFiles") => json!(true),
        ("drive_and_docs.external_sharing", "allowReceivingFilesOutsideAllowlistedDomains") => {
            json!(true)
        }
        ("drive_and_docs.external_sharing", "warnForExternalSharing") => json!(true),
        ("drive_and_docs.external_sharing", "warnForSharingOutsideAllowlistedDomains") => {
            json!(true)
        }
        ("drive_and_docs.external_sharing", "accessCheckerSuggestions") => {
            json!("RECIPIENTS_OR_AUDIENCE_OR_PUBLIC")
        }
        ("drive_and_docs.external_sharing", "allowedPartiesForDistributingContent") => {
            json!("ALL_ELIGIBLE_USERS")
        }
        _ => return None,
    };
    Some(value)
}

/// The fields of `setting` that have a documented default.
pub fn default_fields(setting: &str) -> &'static [&'static str] {
    match setting {
        "security.less_secure_apps" => &["allowLessSecureApps"],
        "security.two_step_verification_enrollment" => &["allowEnrollment"],
        "security.two_step_verification_enforcement_factor" => &["allowedSignInFactorSet"],
        "drive_and_docs.external_sharing" => &[
            "externalSharingMode",
            "allowPublishingFiles",
            "allowNonGoogleInvites",
            "allowNonGoogleInvitesInAllowlistedDomains",
            "allowReceivingExternalFiles",
            "allowReceivingFilesOutsideAllowlistedDomains",
            "warnForExternalSharing",
            "warnForSharingOutsideAllowlistedDomains",
            "accessCheckerSuggestions",
            "allowedPartiesForDistributingContent",
        ],
        _ => &[],
    }
}

/// The settings cloudkeur's controls read: each gets a row in every org unit even when no
/// policy sets it, so that "nothing said" is judged (default, or unknown) rather than skipped.
pub const KNOWN_SETTINGS: &[&str] = &[
    "security.two_step_verification_enrollment",
    "security.two_step_verification_enforcement",
    "security.two_step_verification_enforcement_factor",
    "security.less_secure_apps",
    "api_controls.unconfigured_third_party_apps",
    "drive_and_docs.external_sharing",
    "meet.safety_domain",
    "meet.meet_joining",
    "meet.automatic_recording",
    "meet.automatic_transcription",
    "meet.video_recording",
    "data_regions.data_at_rest_region",
    "data_regions.data_processing_region",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_field_has_a_value_and_no_other_field_does() {
        for setting in KNOWN_SETTINGS {
            for field in default_fields(setting) {
                assert!(default_value(setting, field).is_some(), "{setting}.{field}");
            }
            assert!(default_value(setting, "noSuchField").is_none());
        }
        // Not documented by Google: no default, whatever peers assume.
        assert!(
            default_value("security.two_step_verification_enforcement", "enforcedFrom").is_none()
        );
        assert!(default_value("meet.video_recording", "enableRecording").is_none());
        assert!(
            default_value("api_controls.unconfigured_third_party_apps", "accessLevel").is_none()
        );
        assert!(default_value("data_regions.data_at_rest_region", "region").is_none());
    }

    #[test]
    fn only_the_reducers_read_on_googles_page_are_claimed() {
        assert_eq!(reducer("drive_and_docs.external_sharing"), Reducer::Max);
        assert_eq!(
            reducer("api_controls.unconfigured_third_party_apps"),
            Reducer::Merge
        );
        assert_eq!(reducer("security.less_secure_apps"), Reducer::Undocumented);
    }
}

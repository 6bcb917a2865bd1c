//! The checks of the PodSecurityPolicy settings that narrow the level, one file each, named
//! after the setting; [`super::KNOBS`] lists them. Id rules share [`ids`], profile allowlists
//! [`profile_sources`].

pub mod allow_privilege_escalation;
pub mod allowed_app_armor_profiles;
pub mod allowed_capabilities;
pub mod allowed_csi_drivers;
pub mod allowed_flex_volumes;
pub mod allowed_proc_mount_types;
pub mod allowed_seccomp_profiles;
pub mod flags;
pub mod forbidden_sysctls;
pub mod fs_group;
pub mod ids;
pub mod profile_sources;
pub mod read_only_root_filesystem;
pub mod required_drop_capabilities;
pub mod run_as_group;
pub mod run_as_user;
pub mod runtime_class;
pub mod se_linux;
pub mod supplemental_groups;
pub mod volumes;

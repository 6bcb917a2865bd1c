//! Volume types of `volumes`, named as PodSecurityPolicy's `FSType` names them: the pod's
//! volume source key, except `cephFS` for the `cephfs` source. `*` allows every type, `none`
//! no volume at all.

/// Every type `volumes` may list.
pub const KNOWN: [&str; 32] = [
    "*",
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephFS",
    "cinder",
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "gitRepo",
    "glusterfs",
    "hostPath",
    "image",
    "iscsi",
    "nfs",
    "none",
    "persistentVolumeClaim",
    "photonPersistentDisk",
    "portworxVolume",
    "projected",
    "quobyte",
    "rbd",
    "scaleIO",
    "secret",
    "storageos",
    "vsphereVolume",
];

/// The `volumes` name of a pod volume source key.
pub fn of_source(source: &str) -> &str {
    match source {
        "cephfs" => "cephFS",
        other => other,
    }
}

/// True when `volumes` allows the source key `source`.
pub fn allows(volumes: &[String], source: &str) -> bool {
    let name = of_source(source);
    volumes.iter().any(|v| v == "*" || v == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_allows_all_and_cephfs_is_spelled_as_psp_spells_it() {
        let listed = vec!["cephFS".to_owned(), "secret".to_owned()];
        assert!(allows(&listed, "cephfs"));
        assert!(allows(&listed, "secret"));
        assert!(!allows(&listed, "hostPath"));
        assert!(allows(&["*".to_owned()], "hostPath"));
        assert!(!allows(&["none".to_owned()], "emptyDir"));
        assert!(KNOWN.contains(&"cephFS") && !KNOWN.contains(&"cephfs"));
    }
}

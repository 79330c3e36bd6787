// A YARA rule of the demo database. Its string is a long fixed run, so it has good atoms.
rule Vouch_Demo_Dropper
{
  meta:
    description = "the marker the demo's generated dropper sample carries"
  strings:
    $marker = "VOUCH-DEMO-DROPPER-MARKER" ascii wide
  condition:
    $marker
}
